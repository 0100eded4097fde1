// The layers of the workbench, checked by `npm run lint` (dependency-cruiser over src/):
//   engine (src/main/engine)      the one way in; knows nothing of how it is hosted or shown
//   transports, electron, cli     adapters that host the engine; they do not reach into each other
//   app-root (src/main/app-root)  where the app shell's bundles live (renderer, preload, Electron main)
//   shared (src/shared)           the contract: types and zod schemas both sides import, nothing else
//   preload, renderer             the UI side: only the contract and their own code
// Paths are relative to the repository root. Type-only imports count (tsPreCompilationDeps): a type
// borrowed from an adapter couples the engine to it as much as a value does.

/** the `electron` package, resolved (through a symlinked node_modules too) or, when not installed, as named */
const ELECTRON_PACKAGE = ['(^|/)node_modules/electron/', '^electron$']

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'engine-not-electron',
      severity: 'error',
      comment: 'The engine runs in plain Node (CLI, browser mode, workers): Electron belongs to src/main/electron, which adapts the engine.',
      from: { path: '^src/main/engine/' },
      to: { path: ['^src/main/electron/', ...ELECTRON_PACKAGE] }
    },
    {
      name: 'engine-not-transports',
      severity: 'error',
      comment: 'The engine does not know how it is reached (HTTP, WebSocket): transports call it, not the other way round.',
      from: { path: '^src/main/engine/' },
      to: { path: '^src/main/transports/' }
    },
    {
      name: 'engine-not-cli',
      severity: 'error',
      comment: 'The CLI is a client of the engine: what a command needs from the engine is an engine operation, not CLI code.',
      from: { path: '^src/main/engine/' },
      to: { path: '^src/main/cli/' }
    },
    {
      name: 'engine-not-app-root',
      severity: 'error',
      comment: 'app-root knows where the app shell lives; the engine locates its own files (engine/install-paths.ts).',
      from: { path: '^src/main/engine/' },
      to: { path: '^src/main/app-root\\.ts$' }
    },
    {
      name: 'engine-not-renderer',
      severity: 'error',
      comment: 'The engine talks to the UI only through the contract in src/shared (renderer and preload are UI code).',
      from: { path: '^src/main/engine/' },
      to: { path: '^src/(renderer|preload)/' }
    },
    {
      name: 'renderer-only-shared',
      severity: 'error',
      comment:
        'The renderer runs in a browser page: it imports the contract (src/shared), its own code and npm packages (vue, pinia); never main-process code, the preload or Node built-ins.',
      from: { path: '^src/renderer/' },
      to: { pathNot: ['^src/(renderer|shared)/', '(^|/)node_modules/(?!electron/)'] }
    },
    {
      name: 'preload-only-shared',
      severity: 'error',
      comment: 'The sandboxed preload bridges IPC to the page: it imports electron, the contract and npm packages it bundles, nothing of the main process or renderer.',
      from: { path: '^src/preload/' },
      to: { pathNot: ['^src/(preload|shared)/', '(^|/)node_modules/'] }
    },
    {
      name: 'shared-is-pure',
      severity: 'error',
      comment:
        'The contract is imported by the engine, the preload and the browser page alike: it imports only its own files and npm packages (zod), no Node built-ins, no Electron.',
      from: { path: '^src/shared/' },
      to: { pathNot: ['^src/shared/', '(^|/)node_modules/(?!electron/)'] }
    },
    {
      name: 'transports-not-other-adapters',
      severity: 'error',
      comment: 'The HTTP transport adapts the engine on its own; what it shares with the CLI or Electron belongs in the engine or src/shared.',
      from: { path: '^src/main/transports/' },
      to: { path: '^src/main/(cli|electron)/' }
    },
    {
      name: 'electron-not-other-adapters',
      severity: 'error',
      comment: 'The Electron adapter talks to the engine directly (IPC), not through the CLI or the HTTP transport.',
      from: { path: '^src/main/electron/' },
      to: { path: '^src/main/(cli|transports)/' }
    },
    {
      name: 'cli-not-electron-adapter',
      severity: 'error',
      comment:
        '`elle start` launches the Electron app as its own process (app-root names its bundle); the CLI does not load the Electron adapter. (The CLI may compose the HTTP transport: `elle serve`.)',
      from: { path: '^src/main/cli/' },
      to: { path: '^src/main/electron/' }
    },
    {
      name: 'adapters-only-facade',
      severity: 'error',
      comment:
        'One way in: the CLI, the Electron adapter and the HTTP transport reach the engine only through its public module (engine/api/facade.ts: the contract served in-process, and pure presentation helpers), never engine internals; so every CLI command is a call of a contract operation.',
      from: { path: '^src/main/(cli|electron|transports)/' },
      to: { path: '^src/main/engine/', pathNot: '^src/main/engine/api/facade\\.ts$' }
    },
    {
      name: 'electron-package-in-shell-only',
      severity: 'error',
      comment: 'Only the Electron adapter and the preload load Electron; `elle start` only asks the package for the binary path.',
      from: { path: '^src/main/(transports|cli)/', pathNot: '^src/main/cli/commands/start\\.ts$' },
      to: { path: ELECTRON_PACKAGE }
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'src/ has no import cycles; keep it so (a cycle makes module initialisation order matter).',
      from: {},
      to: { circular: true }
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that cannot be resolved escapes every rule above. The optional native tfjs backends may be absent; select.ts loads them guarded.',
      from: {},
      to: { couldNotResolve: true, pathNot: '^@tensorflow/tfjs-node(-gpu)?$' }
    }
  ],
  options: {
    doNotFollow: { path: ['node_modules'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.vue', '.json', '.d.ts'],
      mainFields: ['module', 'main', 'types', 'typings']
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true }
    }
  }
}
