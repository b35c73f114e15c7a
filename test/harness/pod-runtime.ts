/**
 * Runs an OCI image the way a kubelet and a container runtime run a Pod's container, without a
 * container engine: the root filesystem is unpacked from the image's layers in order (whiteouts
 * honoured, digests and diff_ids checked), the process gets its own mount, PID and UTS
 * namespaces, `/proc`, a minimal `/dev`, `/etc/hosts` and `/etc/hostname`, the service account
 * volume at `/var/run/secrets/kubernetes.io/serviceaccount` (read-only), the image's entrypoint,
 * working directory, user and environment merged with the container's, `KUBERNETES_SERVICE_HOST`
 * and `_PORT`, and, when the container's securityContext says so, a read-only root filesystem.
 *
 * The network namespace is the host's (loopback is how the test reaches it and how it reaches
 * the harness apiserver and Prometheus). Needs root (mount namespaces) and util-linux `unshare`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, posix } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { sha256 } from '../../image/oci.js';
import { readTar, type ReadEntry } from '../../image/tar.js';

/** The parts of an OCI image config a runtime acts on. */
export interface ImageRunConfig {
  readonly User?: string;
  readonly Env?: readonly string[];
  readonly Entrypoint?: readonly string[];
  readonly Cmd?: readonly string[];
  readonly WorkingDir?: string;
}

interface Descriptor {
  digest: string;
  mediaType: string;
}

function blob(layout: string, d: Descriptor): Buffer {
  const [alg, hex] = d.digest.split(':');
  const data = readFileSync(join(layout, 'blobs', alg!, hex!));
  if (sha256(data) !== hex) throw new Error(`blob ${d.digest} does not match its digest`);
  return data;
}

/** Inside `root`, the host path of `rel`, refusing a parent that resolves (through a symlink) outside it. */
function inside(root: string, rel: string): string {
  const parts = rel.split('/').filter(Boolean);
  if (parts.includes('..')) throw new Error(`layer entry "${rel}" leaves the root`);
  const parent = join(root, ...parts.slice(0, -1));
  if (existsSync(parent)) {
    const real = realpathSync(parent);
    if (real !== root && !real.startsWith(`${root}/`))
      throw new Error(`layer entry "${rel}" resolves outside the root`);
  }
  return join(root, ...parts);
}

const remove = (p: string) => rmSync(p, { recursive: true, force: true });
const exists = (p: string) => {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/**
 * Applies one layer on `root` as the OCI image spec's changeset rules say: `.wh..wh..opq` empties
 * the directory of what lower layers put there, `.wh.NAME` deletes NAME; then every other entry
 * is written over what is there, with its mode and owner.
 */
export function applyLayer(root: string, entries: readonly ReadEntry[]): void {
  for (const e of entries) {
    const base = posix.basename(e.path);
    if (!base.startsWith('.wh.')) continue;
    const dir = inside(root, posix.dirname(e.path));
    if (base === '.wh..wh..opq') {
      if (exists(dir)) for (const child of readdirSync(dir)) remove(join(dir, child));
    } else remove(join(dir, base.slice('.wh.'.length)));
  }
  for (const e of entries) {
    if (posix.basename(e.path).startsWith('.wh.') || e.path === '' || e.path === '.') continue;
    const p = inside(root, e.path);
    const st = exists(p) ? lstatSync(p) : undefined;
    if (e.type === 'dir') {
      if (st && !st.isDirectory()) remove(p);
      mkdirSync(p, { recursive: true });
      chownSync(p, e.uid, e.gid);
      chmodSync(p, e.mode);
      continue;
    }
    if (st) remove(p);
    mkdirSync(posix.dirname(p), { recursive: true });
    if (e.type === 'file') {
      writeFileSync(p, e.data);
      chownSync(p, e.uid, e.gid);
      chmodSync(p, e.mode);
    } else if (e.type === 'symlink') {
      symlinkSync(e.target, p);
      lchownSync(p, e.uid, e.gid);
    } else if (e.type === 'hardlink') {
      linkSync(inside(root, e.target), p);
    }
  }
}

/**
 * Unpacks the image of an OCI layout (its only manifest) into `rootfs`, checking every blob's
 * digest and every layer's diff_id; returns the image's run config.
 */
export function unpackImage(layout: string, rootfs: string): ImageRunConfig {
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  if (index.manifests.length !== 1) throw new Error(`${layout}/index.json must name one manifest`);
  const manifest = JSON.parse(blob(layout, index.manifests[0]!).toString()) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  const config = JSON.parse(blob(layout, manifest.config).toString()) as {
    config: ImageRunConfig;
    rootfs: { diff_ids: string[] };
  };
  if (config.rootfs.diff_ids.length !== manifest.layers.length)
    throw new Error('the config names a different number of layers than the manifest');
  mkdirSync(rootfs, { recursive: true });
  const root = realpathSync(rootfs);
  manifest.layers.forEach((d, i) => {
    const compressed = blob(layout, d);
    const tar = d.mediaType.endsWith('+gzip') ? gunzipSync(compressed) : compressed;
    if (`sha256:${sha256(tar)}` !== config.rootfs.diff_ids[i])
      throw new Error(`layer ${i} (${d.digest}) does not match diff_id ${config.rootfs.diff_ids[i]}`);
    applyLayer(root, readTar(tar));
  });
  return config.config;
}

/** What a Pod spec adds to the image: the container's env and securityContext, the service account. */
export interface PodSpec {
  readonly rootfs: string;
  readonly image: ImageRunConfig;
  /** The container's environment (wins over the image's), as the kubelet resolved it. */
  readonly env: Readonly<Record<string, string>>;
  readonly hostname: string;
  readonly serviceAccount: { readonly token: string; readonly caCrt: string; readonly namespace: string };
  /** `https://host:port` of the apiserver, given to the process as KUBERNETES_SERVICE_HOST/PORT. */
  readonly apiServer: string;
  readonly readOnlyRootFilesystem: boolean;
  readonly runAsNonRoot: boolean;
  /** Host directory for the files the runtime mounts (service account, hosts). */
  readonly stateDir: string;
}

export interface RunningPod {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  stderr(): string;
  stdout(): string;
  /** The host PID of the container's PID 1 (for /proc/<pid>/status and mountinfo), once it runs. */
  pid(): number | undefined;
  /** SIGTERM to the container's PID 1, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<number | null>;
}

const SA_DIR = 'var/run/secrets/kubernetes.io/serviceaccount';

/** The sh script that sets up the mount namespace and execs the entrypoint (run by `unshare`). */
const SETUP = `set -eu
R="$POD_ROOT"
mount --bind "$R" "$R"
mount -t proc proc "$R/proc"
mount -t tmpfs -o nosuid,mode=755,size=1m tmpfs "$R/dev"
for d in null zero full random urandom tty; do : > "$R/dev/$d"; mount --bind "/dev/$d" "$R/dev/$d"; done
ln -s /proc/self/fd "$R/dev/fd"
mkdir "$R/dev/shm"
mount -t tmpfs -o nosuid,nodev,noexec,mode=1777,size=64m shm "$R/dev/shm"
mount --bind -o ro "$POD_STATE/serviceaccount" "$R/${SA_DIR}"
mount --bind -o ro "$POD_STATE/hosts" "$R/etc/hosts"
mount --bind -o ro "$POD_STATE/hostname" "$R/etc/hostname"
if [ "$POD_READONLY" = true ]; then mount -o remount,bind,ro "$R"; fi
hostname "$POD_HOSTNAME"
UNSHARE="$(command -v unshare)"
exec env -i "$@" "$UNSHARE" --root="$R" --wd="$POD_WORKDIR" --setgid="$POD_GID" --setuid="$POD_UID" -- "$POD_EXE" `;

/** The setup script with the entrypoint's arguments (after the executable) appended, quoted for sh. */
function script(argv: readonly string[]): string {
  return SETUP + argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ') + '\n';
}

/**
 * Starts the container's process as described; resolves once it has been spawned. The runtime's
 * own checks come first, as the kubelet's do: a non-numeric or root user with runAsNonRoot fails.
 */
export function runPod(spec: PodSpec): RunningPod {
  if (process.getuid?.() !== 0)
    throw new Error('running an image as a Pod needs root (mount and PID namespaces): run the tests as root');
  const user = spec.image.User ?? '0:0';
  const m = /^(\d+)(?::(\d+))?$/.exec(user);
  if (!m) throw new Error(`image user "${user}" is not numeric: the kubelet cannot verify runAsNonRoot`);
  const uid = Number(m[1]);
  const gid = Number(m[2] ?? m[1]);
  if (spec.runAsNonRoot && uid === 0) throw new Error('runAsNonRoot is set, but the image runs as root');
  const argv = [...(spec.image.Entrypoint ?? []), ...(spec.image.Cmd ?? [])];
  if (argv.length === 0) throw new Error('the image has neither Entrypoint nor Cmd');

  // The mount points, created in the runtime's copy of the root before it may be made read-only.
  for (const d of ['proc', 'dev', SA_DIR]) mkdirSync(join(spec.rootfs, d), { recursive: true });
  for (const f of ['etc/hosts', 'etc/hostname']) {
    mkdirSync(join(spec.rootfs, posix.dirname(f)), { recursive: true });
    if (!existsSync(join(spec.rootfs, f))) writeFileSync(join(spec.rootfs, f), '');
  }

  // What the kubelet projects: token, ca.crt, namespace (0644, like the default mode 420).
  const sa = join(spec.stateDir, 'serviceaccount');
  mkdirSync(sa, { recursive: true });
  writeFileSync(join(sa, 'token'), spec.serviceAccount.token, { mode: 0o644 });
  writeFileSync(join(sa, 'ca.crt'), spec.serviceAccount.caCrt, { mode: 0o644 });
  writeFileSync(join(sa, 'namespace'), spec.serviceAccount.namespace, { mode: 0o644 });
  writeFileSync(
    join(spec.stateDir, 'hosts'),
    `127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.0.1\t${spec.hostname}\n`,
  );
  writeFileSync(join(spec.stateDir, 'hostname'), `${spec.hostname}\n`);

  const api = new URL(spec.apiServer);
  const env: Record<string, string> = {};
  for (const kv of spec.image.Env ?? []) {
    const i = kv.indexOf('=');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  Object.assign(env, spec.env, {
    HOSTNAME: spec.hostname,
    KUBERNETES_SERVICE_HOST: api.hostname.replace(/^\[|\]$/g, ''),
    KUBERNETES_SERVICE_PORT: api.port || '443',
  });
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);

  const child = spawn(
    'unshare',
    [
      '--mount',
      '--pid',
      '--uts',
      '--fork',
      '--kill-child=SIGTERM',
      '--',
      'sh',
      '-c',
      script(argv.slice(1)),
      'pod',
      ...envArgs,
    ],
    {
      env: {
        PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
        POD_ROOT: realpathSync(spec.rootfs),
        POD_STATE: spec.stateDir,
        POD_READONLY: String(spec.readOnlyRootFilesystem),
        POD_HOSTNAME: spec.hostname,
        POD_WORKDIR: spec.image.WorkingDir || '/',
        POD_UID: String(uid),
        POD_GID: String(gid),
        POD_EXE: argv[0]!,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((r) =>
    child.on('exit', (code, signal) => r(code ?? (signal ? -1 : null))),
  );
  // PID 1 of the Pod: the child `unshare --fork` made (its only child).
  const inner = (): number | undefined => {
    try {
      const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
      return kids ? Number(kids.split(' ')[0]) : undefined;
    } catch {
      return undefined;
    }
  };
  const alive = (pid: number) => existsSync(`/proc/${pid}`);
  return {
    child,
    exited,
    stderr: () => stderr,
    stdout: () => stdout,
    pid: inner,
    stop: async (graceMs = 15_000) => {
      const pid = inner();
      if (pid !== undefined && alive(pid)) {
        process.kill(pid, 'SIGTERM');
        for (let t = 0; t < graceMs && alive(pid); t += 100) await new Promise((r) => setTimeout(r, 100));
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}
