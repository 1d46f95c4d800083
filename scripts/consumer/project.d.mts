// Types of ./project.mjs, for bench/consumer.ts.

export declare const root: string
export declare const fixture: (name: string) => string
export declare const companions: ReadonlyArray<string>
export declare const installedSpec: (name: string) => string

export interface RunResult {
  readonly status: number | null
  readonly timedOut: boolean
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
}
export declare const run: (
  command: string,
  args: ReadonlyArray<string>,
  options?: { readonly cwd?: string; readonly timeoutMs?: number }
) => Promise<RunResult>
export declare const tempDir: (prefix: string) => { readonly path: string; readonly remove: () => void }
export declare const pack: (
  dir: string
) => Promise<{ readonly tarball: string; readonly files: ReadonlyArray<string>; readonly size: number }>
export declare const createProject: (dir: string) => void
export declare const npmInstall: (
  dir: string,
  specs: ReadonlyArray<string>,
  extra?: ReadonlyArray<string>
) => Promise<RunResult>
export declare const installConsumer: (dir: string, tarball: string) => Promise<RunResult>
export declare const strictOptions: Readonly<Record<string, unknown>>
export declare const moduleSettings: Readonly<
  Record<"NodeNext" | "Bundler/ESNext" | "Bundler/Preserve", Readonly<Record<string, string>>>
>
export declare const writeTsconfig: (
  dir: string,
  name: string,
  files: ReadonlyArray<string>,
  compilerOptions: Readonly<Record<string, unknown>>
) => string
export declare const reportCpu: string
export declare const tsc: (
  dir: string,
  tsconfig: string,
  extra?: ReadonlyArray<string>
) => Promise<RunResult & { readonly cpuMs: number }>
export declare const timeUntilLine: (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly pattern: RegExp; readonly timeoutMs?: number }
) => Promise<{ readonly ms: number; readonly line: string; readonly cpuMs: number }>
export declare const median: (values: ReadonlyArray<number>) => number
