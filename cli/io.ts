/**
 * What a command reads from and writes to (`main` passes the process's, a test its own), and
 * what it is given: its arguments and parsed flags.
 */
import { isAbsolute, resolve } from 'node:path';

/** The program's name, as usage lines and messages show it. */
export const PROGRAM = 'cdk8s-mesh';

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** stdout is a terminal: `status --watch` redraws in place. @default false */
  readonly tty?: boolean;
  /** Terminal width. @default 120 */
  readonly columns?: number;
  /** Ends `status --watch`. */
  readonly signal?: AbortSignal;
  /** The process's working directory. @default process.cwd() */
  readonly cwd?: string;
  /** The environment (INIT_CWD, KUBECONFIG, HOME). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The running Node.js version. @default process.versions.node */
  readonly nodeVersion?: string;
}

/**
 * The directory the user ran the command in, which relative paths resolve from: under
 * `npm run`/`npx`, npm runs the command in the package root and passes the user's directory as
 * INIT_CWD (yarn and pnpm do the same); otherwise the working directory.
 */
export function userDir(io: Pick<Io, 'cwd' | 'env'>): string {
  const env = io.env ?? process.env;
  return env.INIT_CWD || io.cwd || process.cwd();
}

/** A path argument as the command opens it: absolute, from the user's directory. */
export function resolvePath(io: Pick<Io, 'cwd' | 'env'>, path: string): string {
  return isAbsolute(path) ? path : resolve(userDir(io), path);
}

/** The parsed flags of one command. */
export type Values = Readonly<Record<string, string | boolean | string[] | undefined>>;

/** What a command's `run` gets. */
export interface CommandContext {
  /** The command's name as typed (`promote`, `resume` and `abort` share a module). */
  readonly command: string;
  /** The arguments after the command that are not flags. */
  readonly args: readonly string[];
  readonly values: Values;
  readonly io: Io;
  /** `--output json`. */
  readonly json: boolean;
}

export interface CommandModule {
  run(ctx: CommandContext): Promise<number>;
}
