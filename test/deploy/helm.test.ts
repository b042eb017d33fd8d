/**
 * The Helm chart (helm/ony). Always: values.yaml and every documented example validate against
 * values.schema.json, bad values are refused naming the value, the templates read only values that
 * exist, and every environment variable the chart sets is one the server's config knows. With a real
 * Helm binary (node scripts/fetch-helm.mjs, HELM_BIN, or helm on PATH): `helm lint --strict` and
 * `helm template` on the same files, and the rendered objects have what a platform team expects.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const root = new URL('../../', import.meta.url).pathname;
const chart = join(root, 'helm/ony');
const examplesDir = join(chart, 'examples');
const examples = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => join(examplesDir, f));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const readYaml = (file: string): Obj => parse(readFileSync(file, 'utf8')) as Obj;
const defaults = readYaml(join(chart, 'values.yaml'));
const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8')) as Obj;

/** Helm's coalescing of user values over the chart's: maps merge key by key, anything else replaces. */
function merge(base: Json, over: Json): Json {
  if (!isObj(base) || !isObj(over)) return over;
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in base ? merge(base[k]!, v) : v;
  return out;
}
/** `--set a.b.c=v` as a values object. */
function at(path: string, value: Json): Obj {
  return path
    .split('.')
    .reverse()
    .reduce<Json>((acc, key) => ({ [key]: acc }), value) as Obj;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
function problems(values: Json): string[] {
  return validate(values)
    ? []
    : (validate.errors ?? []).map((e) => {
        const extra = (e.params as { additionalProperty?: string }).additionalProperty;
        return `${e.instancePath} ${e.message ?? ''}${extra === undefined ? '' : `: ${extra}`}`;
      });
}

describe('values.schema.json', () => {
  it('accepts values.yaml and every example in helm/ony/examples', () => {
    expect(examples.length).toBeGreaterThanOrEqual(2);
    expect(problems(defaults)).toEqual([]);
    for (const file of examples)
      expect({ file, problems: problems(merge(defaults, readYaml(file))) }).toEqual({ file, problems: [] });
  });

  it.each([
    ['replicaCount', 0, '/replicaCount'],
    // Chart 0.1's keys, moved to secrets.runtime / secrets.migrate in 0.2.
    ['env.existingSecret', 'ony', '/env must NOT have additional properties: existingSecret'],
    ['database.migrateSecret', 'ony-migrate', '/database must NOT have additional properties: migrateSecret'],
    ['replicaCont', 3, 'replicaCont'],
    ['probes.readiness.paht', '/readyz', 'paht'],
    ['service.type', 'Internal', '/service/type'],
    ['env.publicUrl', 'https://ony.example.com/', '/env/publicUrl'],
    ['env.extra.ony_log_level', 'debug', '/env/extra'],
    ['backup.enabled', true, '/backup/s3Url'],
    ['backup.s3Url', 'https://bucket/ony', '/backup/s3Url'],
    ['secrets.runtime.existingSecret', '', '/secrets/runtime/values/DATABASE_URL'],
    [
      'secrets.migrate.values.ONY_MIGRATE_DATABASE_URL',
      'mysql://db/ony',
      '/secrets/migrate/values/ONY_MIGRATE_DATABASE_URL',
    ],
    ['podDisruptionBudget.minAvailable', 1, '/podDisruptionBudget'],
    ['networkPolicy.egress.providers.cidrs', ['api.slack.com'], '/networkPolicy/egress/providers/cidrs/0'],
    ['database.runtimeRole', 'ony runtime; drop', '/database/runtimeRole'],
  ])('refuses %s = %j, naming it', (path, value, named) => {
    const found = problems(merge(defaults, at(path, value as Json)));
    expect(found.join('\n')).toContain(named);
  });
});

const templateFiles = readdirSync(join(chart, 'templates')).map((f) => join(chart, 'templates', f));
const templates = templateFiles.map((f) => readFileSync(f, 'utf8')).join('\n');

const SEGMENTS = /((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/.source;
/** Every `.Values.a.b` a template reads, directly or through a variable (`$b := .Values.backup` ... `$b.keep`). */
function valuePaths(template: string): string[] {
  const aliases = new Map(
    [...template.matchAll(new RegExp(`\\$(\\w+) := \\.Values${SEGMENTS}`, 'g'))].map((m) => [m[1]!, m[2]!]),
  );
  const direct = [...template.matchAll(new RegExp(`\\.Values${SEGMENTS}`, 'g'))].map((m) => m[1]!);
  const viaAlias = [...template.matchAll(new RegExp(`\\$(\\w+)${SEGMENTS}`, 'g'))]
    .filter((m) => aliases.has(m[1]!))
    .map((m) => aliases.get(m[1]!)! + m[2]!);
  return [...direct, ...viaAlias].map((p) => p.slice(1));
}

describe('templates', () => {
  it('read only values that the schema declares and values.yaml sets (unless the schema makes them optional)', () => {
    const paths = new Set(templateFiles.flatMap((f) => valuePaths(readFileSync(f, 'utf8'))));
    expect(paths.size).toBeGreaterThan(40);
    expect(paths).toContain('backup.schedule'); // read through `$b := .Values.backup`
    const missing: string[] = [];
    for (const path of paths) {
      let value: Json | undefined = defaults;
      let node: Json | undefined = schema;
      let required = true;
      for (const key of path.split('.')) {
        value = isObj(value) ? value[key] : undefined;
        const props: Json | undefined = isObj(node) ? node['properties'] : undefined;
        required &&= isObj(node) && Array.isArray(node['required']) && node['required'].includes(key);
        node = isObj(props) ? props[key] : undefined;
      }
      if (node === undefined || (value === undefined && required)) missing.push(path);
    }
    expect(missing).toEqual([]);
  });

  it('set only environment variables the server knows', () => {
    // Every variable the config reads is documented in .env.example (as `NAME=` or `# NAME=`).
    const known = new Set(
      [...readFileSync(join(root, '.env.example'), 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map(
        (m) => m[1]!,
      ),
    );
    expect(known.has('ONY_MIGRATE_DATABASE_URL')).toBe(true);
    const inTemplates = [...templates.matchAll(/- name: ([A-Z][A-Z0-9_]*)\s/g)].map((m) => m[1]!);
    expect(inTemplates).toContain('ONY_PUBLIC_URL');
    const inValues = [defaults, ...examples.map(readYaml)].flatMap((v) => {
      const env = isObj(v['env']) ? v['env']['extra'] : undefined;
      const secrets = isObj(v['secrets']) ? v['secrets'] : {};
      const secretKeys = ['runtime', 'migrate'].flatMap((s) => {
        const section = secrets[s];
        return isObj(section) && isObj(section['values']) ? Object.keys(section['values']) : [];
      });
      return [...(isObj(env) ? Object.keys(env) : []), ...secretKeys];
    });
    expect(inValues).toContain('DATABASE_URL');
    expect([...inTemplates, ...inValues].filter((name) => !known.has(name))).toEqual([]);
  });

  it('harden every pod and keep the owner credential out of the server', () => {
    const sec = defaults['securityContext'] as Obj;
    const podSec = defaults['podSecurityContext'] as Obj;
    expect(podSec).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(sec).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(defaults['replicaCount']).toBeGreaterThanOrEqual(2);
    for (const kind of [
      'PodDisruptionBudget',
      'HorizontalPodAutoscaler',
      'NetworkPolicy',
      'Ingress',
      'ServiceMonitor',
      'CronJob',
      'Job',
    ])
      expect(templates).toContain(`kind: ${kind}`);
    const deployment = readFileSync(join(chart, 'templates/deployment.yaml'), 'utf8');
    expect(deployment).not.toContain('migrateSecretName');
  });
});

/** A real Helm: HELM_BIN, the one scripts/fetch-helm.mjs puts in node_modules/.cache, or helm on PATH. */
function findHelm(): string | undefined {
  const candidates = [process.env['HELM_BIN'], join(root, 'node_modules/.cache/helm/helm'), 'helm'];
  return candidates.find(
    (c) =>
      c !== undefined &&
      c !== '' &&
      (c === 'helm' || existsSync(c)) &&
      spawnSync(c, ['version', '--short']).status === 0,
  );
}
const helmBin = findHelm();

function helm(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(helmBin!, args, { encoding: 'utf8', cwd: root });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface K8sObject {
  kind: string;
  apiVersion: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Obj;
  data?: Record<string, string>;
}
function render(...valueArgs: string[]): K8sObject[] {
  const r = helm('template', 'rel', chart, '--namespace', 'ony', ...valueArgs);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((d): d is K8sObject => d !== null);
}
const one = (objs: K8sObject[], kind: string, name?: string): K8sObject => {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found.map((o) => o.metadata.name)).toHaveLength(1);
  return found[0]!;
};
// Narrow typed views of the rendered objects this file reads.
interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string }[];
  envFrom?: { secretRef: { name: string } }[];
  securityContext?: Obj;
  resources?: Obj;
  startupProbe?: { httpGet: { path: string } };
  readinessProbe?: { httpGet: { path: string } };
  livenessProbe?: { httpGet: { path: string } };
  lifecycle?: Obj;
}
interface PodSpec {
  containers: Container[];
  securityContext: Obj;
  automountServiceAccountToken: boolean;
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: PodSpec;
}
const podOf = (o: K8sObject): PodTemplate =>
  (o.kind === 'CronJob'
    ? ((o.spec!['jobTemplate'] as Obj)['spec'] as Obj)['template']
    : o.spec!['template']) as unknown as PodTemplate;
const secretRefs = (c: Container) => (c.envFrom ?? []).map((e) => e.secretRef.name);

describe.skipIf(helmBin === undefined)('with Helm (node scripts/fetch-helm.mjs)', () => {
  it('helm lint --strict passes on values.yaml and every example', () => {
    for (const args of [[], ...examples.map((f) => ['-f', f])]) {
      const r = helm('lint', '--strict', chart, ...args);
      expect({ args, status: r.status, out: r.stdout + r.stderr }).toMatchObject({ args, status: 0 });
    }
  });

  it('renders the defaults: two hardened replicas, three probes, a PDB, a NetworkPolicy, a migrate hook', () => {
    const objs = render();
    const deployment = one(objs, 'Deployment');
    expect(deployment.spec!['replicas']).toBe(2);
    const pod = podOf(deployment);
    const server = pod.spec.containers[0]!;
    expect(pod.spec.automountServiceAccountToken).toBe(false);
    expect(pod.spec.securityContext).toMatchObject({
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(server.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(server.startupProbe?.httpGet.path).toBe('/healthz');
    expect(server.readinessProbe?.httpGet.path).toBe('/readyz');
    expect(server.livenessProbe?.httpGet.path).toBe('/healthz');
    expect(server.resources).toMatchObject({
      requests: { cpu: '100m', memory: '256Mi' },
      limits: { memory: '512Mi' },
    });
    expect(secretRefs(server)).toEqual(['ony']);
    expect(server.lifecycle).toEqual({ preStop: { exec: { command: ['sleep', '5'] } } });

    const pdb = one(objs, 'PodDisruptionBudget');
    expect(pdb.spec).toMatchObject({ maxUnavailable: 1, selector: { matchLabels: pod.metadata.labels } });
    const service = one(objs, 'Service');
    expect(service.spec!['selector']).toEqual(pod.metadata.labels);

    const policy = one(objs, 'NetworkPolicy', 'rel-ony');
    const ports = (policy.spec!['egress'] as Obj[]).flatMap((r) => r['ports'] as Obj[]).map((p) => p['port']);
    expect(ports).toEqual([53, 53, 5432, 6379, 443]);
    one(objs, 'NetworkPolicy', 'rel-ony-jobs');

    const migrate = one(objs, 'Job');
    expect(migrate.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
    const job = podOf(migrate).spec.containers[0]!;
    expect(job.args).toEqual(['migrate', '--grant-runtime', 'ony_runtime']);
    expect(secretRefs(job)).toEqual(['ony', 'ony-migrate']);
    for (const kind of ['HorizontalPodAutoscaler', 'Ingress', 'ServiceMonitor', 'CronJob', 'Secret'])
      expect(objs.filter((o) => o.kind === kind)).toEqual([]);
  });

  it('renders the production example: HPA, Ingress, ServiceMonitor, the backup CronJob', () => {
    const objs = render('-f', join(examplesDir, 'production.yaml'));
    const deployment = one(objs, 'Deployment');
    expect(deployment.spec!['replicas']).toBeUndefined();
    expect(one(objs, 'HorizontalPodAutoscaler').spec).toMatchObject({ minReplicas: 2, maxReplicas: 6 });
    expect(JSON.stringify(one(objs, 'Ingress').spec)).toContain('"name":"http"');
    expect(one(objs, 'ServiceMonitor').spec).toMatchObject({
      endpoints: [{ port: 'metrics', path: '/metrics' }],
    });
    const server = podOf(deployment).spec.containers[0]!;
    expect(server.env).toContainEqual({ name: 'ONY_METRICS_LISTEN', value: '0.0.0.0:9464' });

    const cron = one(objs, 'CronJob');
    const backup = podOf(cron).spec.containers[0]!;
    expect(backup.args).toEqual([
      'backup',
      'create',
      '--s3',
      's3://example-ony-backups/prod/',
      '--keep',
      '30',
    ]);
    expect(secretRefs(backup)).toEqual(['ony', 'ony-migrate']);
    expect(backup.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
  });

  it('renders the generated-secrets example: hook Secrets before the migrate Job, a kept 32-byte master key', () => {
    const objs = render('-f', join(examplesDir, 'generated-secrets.yaml'));
    const runtime = one(objs, 'Secret', 'rel-ony');
    expect(runtime.metadata.annotations).toMatchObject({
      'helm.sh/hook': 'pre-install,pre-upgrade',
      'helm.sh/hook-weight': '-10',
      'helm.sh/resource-policy': 'keep',
    });
    expect(Buffer.from(runtime.data!['ONY_MASTER_KEY']!, 'base64').toString()).toMatch(
      /^[A-Za-z0-9+/]{43}=$/,
    );
    expect(
      Buffer.from(Buffer.from(runtime.data!['ONY_MASTER_KEY']!, 'base64').toString(), 'base64'),
    ).toHaveLength(32);
    expect(Object.keys(runtime.data!).sort()).toEqual(['DATABASE_URL', 'ONY_MASTER_KEY', 'REDIS_URL']);
    one(objs, 'Secret', 'rel-ony-migrate');
    const server = podOf(one(objs, 'Deployment')).spec.containers[0]!;
    expect(secretRefs(server)).toEqual(['rel-ony']);
    const job = podOf(one(objs, 'Job')).spec.containers[0]!;
    expect(secretRefs(job)).toEqual(['rel-ony', 'rel-ony-migrate']);
    const egress = one(objs, 'NetworkPolicy', 'rel-ony').spec!['egress'] as Obj[];
    expect(JSON.stringify(egress)).not.toContain('443');
  });

  it('every rendered container sets only environment variables the server knows (or the backup SDK gets)', () => {
    const known = new Set(
      [...readFileSync(join(root, '.env.example'), 'utf8').matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map(
        (m) => m[1]!,
      ),
    );
    for (const file of examples) {
      const objs = render('-f', file);
      const names = objs
        .filter((o) => ['Deployment', 'Job', 'CronJob'].includes(o.kind))
        .flatMap((o) => podOf(o).spec.containers.flatMap((c) => (c.env ?? []).map((e) => e.name)))
        .filter((n) => !n.startsWith('AWS_'));
      expect(names.filter((n) => !known.has(n))).toEqual([]);
    }
  });

  it('NOTES give the next steps and never print a credential', () => {
    const notesOf = (...args: string[]) => {
      const r = helm('install', 'ony', chart, '--namespace', 'ony', '--dry-run=client', ...args);
      expect(r.status).toBe(0);
      return r.stdout.slice(r.stdout.indexOf('\nNOTES:\n'));
    };
    const generated = notesOf(
      '-f',
      join(examplesDir, 'generated-secrets.yaml'),
      '--set',
      'backup.enabled=true',
      '--set',
      'backup.s3Url=s3://b/ony',
    );
    for (const step of [
      'kubectl -n ony rollout status deployment/ony',
      "kubectl -n ony logs deployment/ony | grep -A1 'setup token'",
      'kubectl -n ony port-forward svc/ony 8080:8080',
      'kubectl -n ony create job --from=cronjob/ony-backup',
      "kubectl -n ony get secret ony -o jsonpath='{.data.ONY_MASTER_KEY}'",
    ])
      expect(generated).toContain(step);
    expect(generated).not.toMatch(/change-me|postgres:\/\/|ONY_MASTER_KEY: /);
    expect(notesOf('--set', 'secrets.migrate.existingSecret=')).toContain('WARNING: no owner credential');
  });

  it.each([
    [['--set', 'replicaCount=0'], 'replicaCount'],
    [['--set', 'backup.enabled=true'], 's3Url'],
    [['--set', 'secrets.runtime.existingSecret='], 'DATABASE_URL'],
    [['--set', 'nope=1'], 'nope'],
  ])('helm template %j fails naming %s', (args, named) => {
    const r = helm('template', 'rel', chart, ...args);
    expect(r.status).not.toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(named);
  });
});
