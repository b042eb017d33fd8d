/**
 * Phone calls in flight: each provider request to ony's voice URL moves the call's state (kept in
 * the ephemeral store under the opaque token of the URL) through the pure call flow, and the
 * decision it asks for goes through the one decision path (`ChannelActions.decide`) as the member
 * whose verified number was called. The final status callback stores the call record (provider call
 * id, masked number, status, duration, outcome) and forgets the state. Nothing said on the call is
 * stored: no audio, no recording, no transcript; speech, when the voice agent is on, is processed in
 * memory only.
 */
import type { ChannelActions, InboundRefusal } from '../../channels/channel.js';
import type { CallStatusEvent, TelephonyProvider, VoiceRequest } from '../../channels/telephony/provider.js';
import { FINAL_CALL_STATUSES } from '../../channels/telephony/provider.js';
import {
  CALL_STATE_TTL_MS,
  CALL_TOKEN_RE,
  callUrls,
  keys,
  type CallRecordState,
} from '../../channels/telephony/state.js';
import {
  afterDecision,
  MAX_TOTP_FAILURES,
  onAnswer,
  onKeys,
  noticeScript,
  onNoInput,
  reprompt,
  SAY,
  verificationScript,
  type ApprovalCall,
  type DecisionResult,
  type Step,
} from '../../core/telephony/call-flow.js';
import type { CallScript } from '../../core/telephony/script.js';
import type { PhoneCallsTable } from '../../db/schema.js';
import type { CallRecordsService } from './call-records.service.js';
import type { Logger } from '../../lib/logger.js';
import type { EphemeralStore } from '../../state/store.js';
import type { ReplayGuard } from '../replay/replay-guard.js';

/** The optional voice agent, as the call needs it. */
export interface CallVoiceAgent {
  classify(utterance: string): Promise<'approve' | 'deny' | 'repeat' | 'question' | 'unclear'>;
  answer(
    question: string,
    context: { actionLabel: string; riskLevel: string; speech: string },
  ): Promise<string | undefined>;
}

export interface CallsDeps {
  readonly store: Pick<EphemeralStore, 'get' | 'set' | 'take'>;
  readonly replay: ReplayGuard;
  readonly records: Pick<CallRecordsService, 'record' | 'stepUpFailed'>;
  readonly provider: Pick<TelephonyProvider, 'name'>;
  readonly actions: Pick<ChannelActions, 'decide'>;
  readonly logger: Logger;
  /** `webhookPath`: this account's webhook path (an org's own account has its own). */
  readonly config: { readonly publicUrl: string; readonly webhookPath?: string };
  readonly voiceAgent?: CallVoiceAgent | undefined;
}

/** What a refusal sounds like on the phone. */
const SPOKEN_REFUSAL: Record<InboundRefusal, string> = {
  not_linked: 'This number is not verified for an ony member. Goodbye.',
  not_allowed: 'Your ony role cannot decide requests. Goodbye.',
  not_found: 'This request no longer exists. Goodbye.',
  expired: 'This request expired before a decision. Nothing was changed. Goodbye.',
  already_decided: 'This request was already decided. Nothing was changed. Goodbye.',
  unknown_option: 'That answer is not an option. Goodbye.',
  totp_required: SAY.totpPrompt,
  totp_invalid: 'That code is not right.',
  totp_not_enrolled:
    'Approving this needs a code from an authenticator app, and you have not set one up. Decide in the ony dashboard. Goodbye.',
  assurance_required:
    'Approving this needs a stronger proof of who you are than this call can give. Decide in the ony dashboard. Goodbye.',
  invalid_code: 'Goodbye.',
  unavailable:
    'ony could not record your answer just now. Nothing was changed. Please try again in a minute, or decide in the ony dashboard. Goodbye.',
};

const ENDED: CallScript = { say: [SAY.ended], then: { kind: 'hangup' } };

export function createCallsService({
  store,
  replay,
  records,
  provider,
  actions,
  logger,
  config,
  voiceAgent,
}: CallsDeps) {
  async function decide(
    phone: string,
    call: ApprovalCall,
    vote: { option: string; totpCode?: string },
  ): Promise<DecisionResult> {
    const r = await actions.decide('phone', phone, call.handoffId, vote);
    if (r.ok) {
      if (r.outcome === 'recorded' || r.status === 'pending') return { kind: 'recorded' };
      if (r.status === 'approved' || r.status === 'denied') return { kind: 'decided', status: r.status };
      return { kind: 'refused', say: SPOKEN_REFUSAL.already_decided };
    }
    if (r.reason === 'totp_required') return { kind: 'totp_required' };
    if (r.reason === 'totp_invalid') return { kind: 'totp_invalid' };
    return { kind: 'refused', say: SPOKEN_REFUSAL[r.reason] };
  }

  async function speechStep(call: ApprovalCall, speech: string, urls: ReturnType<typeof callUrls>['flow']) {
    if (voiceAgent === undefined || call.phase !== 'menu') return onKeys(call, '', urls);
    const intent = await voiceAgent.classify(speech);
    switch (intent) {
      case 'approve':
        return onKeys(call, '1', urls);
      case 'deny':
        return onKeys(call, '2', urls);
      case 'repeat':
        return onKeys(call, '*', urls);
      case 'question': {
        const answer = await voiceAgent.answer(speech, {
          actionLabel: call.ctx.actionType,
          riskLevel: call.ctx.riskLevel,
          speech: call.ctx.speech,
        });
        return reprompt(call, urls, [answer ?? "I don't know."]);
      }
      case 'unclear':
        return reprompt(call, urls, [SAY.notUnderstood]);
    }
  }

  /** One step of an approval call: the pure call flow, its decisions, the state for the next step. */
  async function advance(
    token: string,
    state: Extract<CallRecordState, { kind: 'approval' }>,
    ev: VoiceRequest,
    noInput: boolean,
  ): Promise<CallScript> {
    const nextStep = state.answered ? (state.step ?? 0) + 1 : 0;
    const urls = callUrls(config.publicUrl, token, nextStep, config.webhookPath).flow;
    let step: Step;
    if (!state.answered) step = onAnswer(state.call, ev.answeredBy ?? state.answeredBy, urls);
    else if (noInput) step = onNoInput(state.call, urls);
    else if (ev.speech !== undefined && ev.speech !== '' && ev.digits === '')
      step = await speechStep(state.call, ev.speech, urls);
    else step = onKeys(state.call, ev.digits, urls);
    while ('decide' in step) {
      const result = await decide(state.phone, step.state, step.decide);
      step = afterDecision(step.state, result, urls);
    }
    const next: CallRecordState = {
      ...state,
      callId: ev.callId,
      answered: true,
      step: nextStep,
      call: step.state,
    };
    await store.set(keys.call(token), JSON.stringify(next), CALL_STATE_TTL_MS);
    if (step.state.outcome === 'totp_failed' && state.call.outcome !== 'totp_failed')
      await records.stepUpFailed(
        { phone: state.phone, memberId: state.call.memberId },
        state.call.handoffId,
        MAX_TOTP_FAILURES,
      );
    return step.script;
  }

  return {
    /**
     * A request to the voice URL: the next script of the call. `step` is the URL's `k`: the answer
     * request has none; every later request must carry the step the last script asked for, once.
     * A stale or replayed one hears "goodbye" and changes nothing (the real call is not affected).
     */
    async voice(token: string, ev: VoiceRequest, noInput: boolean, step?: number): Promise<CallScript> {
      const raw = CALL_TOKEN_RE.test(token) ? await store.get(keys.call(token)) : null;
      if (raw === null) return ENDED;
      const state = JSON.parse(raw) as CallRecordState;
      // The token belongs to the call it was made for; another call id with it hears nothing.
      if (state.callId !== undefined && state.callId !== ev.callId) return ENDED;
      if (state.kind !== 'approval') {
        await store.set(keys.call(token), JSON.stringify({ ...state, callId: ev.callId }), CALL_STATE_TTL_MS);
        return state.kind === 'verification' ? verificationScript(state.code) : noticeScript(state.speech);
      }
      const expected = state.answered ? (state.step ?? 0) : undefined;
      if (step !== expected) {
        logger.warn({ provider: provider.name }, 'stale or replayed call request ignored');
        return ENDED;
      }
      if (step !== undefined && !(await replay.claim(keys.callStep(token, step), CALL_STATE_TTL_MS))) {
        logger.warn({ provider: provider.name }, 'replayed call request ignored');
        return ENDED;
      }
      try {
        return await advance(token, state, ev, noInput);
      } catch (err) {
        // The provider's retry of this step must get through.
        if (step !== undefined) await replay.release(keys.callStep(token, step)).catch(() => undefined);
        throw err;
      }
    },

    /** A status callback: the final one stores the call record and forgets the call. */
    async status(token: string, ev: CallStatusEvent): Promise<void> {
      if (!CALL_TOKEN_RE.test(token)) return;
      if (!FINAL_CALL_STATUSES.includes(ev.status)) {
        // Telnyx reports answering-machine detection here, before it asks for the script.
        if (ev.answeredBy === undefined) return;
        const raw = await store.get(keys.call(token));
        const state = raw === null ? undefined : (JSON.parse(raw) as CallRecordState);
        if (state?.kind !== 'approval' || state.answered) return;
        if (state.callId !== undefined && state.callId !== ev.callId) return;
        const next: CallRecordState = { ...state, callId: ev.callId, answeredBy: ev.answeredBy };
        await store.set(keys.call(token), JSON.stringify(next), CALL_STATE_TTL_MS);
        return;
      }
      const raw = await store.take(keys.call(token));
      if (raw === null) {
        logger.info({ provider: provider.name }, 'final call status for a call ony no longer tracks');
        return;
      }
      const state = JSON.parse(raw) as CallRecordState;
      if (state.callId !== undefined && state.callId !== ev.callId) return;
      const memberId = state.kind === 'approval' ? state.call.memberId : state.memberId;
      const outcome =
        state.kind !== 'approval'
          ? state.kind
          : (state.call.outcome ??
            // Plivo hangs up on a machine itself and says so only here.
            (ev.answeredBy === 'machine'
              ? 'voicemail'
              : ev.status === 'completed' && state.answered
                ? 'hung_up'
                : 'not_answered'));
      await records.record(
        { phone: state.phone, memberId, ...(state.kind === 'verification' && { orgId: state.orgId }) },
        {
          handoffId: state.kind === 'approval' ? state.call.handoffId : null,
          provider: provider.name,
          providerCallId: ev.callId,
          // A final status (checked above) is one of the record's statuses.
          status: ev.status as PhoneCallsTable['status'],
          durationS: ev.durationS ?? null,
          outcome,
        },
      );
      logger.info({ provider: provider.name, status: ev.status, outcome }, 'call ended');
    },
  };
}

export type CallsService = ReturnType<typeof createCallsService>;
