/**
 * The dashboard's one way to run a form submit or a button's request: `busy` while it runs (to
 * disable the button), the error text if it failed, and an optional success notice. Runs that
 * overlap are not guarded: disable the control with `busy`.
 */
import { useCallback, useState } from 'react';
import { errorText } from './api';

export interface Action {
  readonly busy: boolean;
  readonly error: string | null;
  readonly notice: string | null;
  /** Runs `f`; a string it returns becomes the notice. Answers whether it succeeded. */
  run(f: () => Promise<string | void>): Promise<boolean>;
  setError(error: string | null): void;
  setNotice(notice: string | null): void;
}

export function useAction(initialError: string | null = null): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(initialError);
  const [notice, setNotice] = useState<string | null>(null);
  const run = useCallback(async (f: () => Promise<string | void>) => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const message = await f();
      if (typeof message === 'string') setNotice(message);
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, notice, run, setError, setNotice };
}
