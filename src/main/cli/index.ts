// `elle`: the workbench's command line, built on the same engine as the app.
// Exit codes: 0 success, 1 the command failed, 2 bad usage. Errors are one line on stderr.
import { backendCommand } from './commands/backend'
import { checkpointsCommand } from './commands/checkpoints'
import { compareCommand } from './commands/compare'
import { domainsCommand } from './commands/domains'
import { evalCommand } from './commands/eval'
import { exportCommand } from './commands/export'
import { finetuneCommand } from './commands/finetune'
import { growCommand } from './commands/grow'
import { importCommand } from './commands/import'
import { jobsCommand } from './commands/jobs'
import { runCommand } from './commands/run'
import { runsCommand } from './commands/runs'
import { seriesCommand } from './commands/series'
import { serveCommand } from './commands/serve'
import { startCommand } from './commands/start'
import { streamsCommand } from './commands/streams'
import { experimentsCommand } from './commands/experiments'
import { queueCommand } from './commands/queue'
import { workerCommand } from './commands/worker'
import { viewsCommand } from './commands/views'
import { helpText, parseCommandArgs, UsageError, type Command } from './args'
import { JobCancelledError } from './api'

export const COMMANDS: readonly Command[] = [
  startCommand,
  serveCommand,
  backendCommand,
  domainsCommand,
  streamsCommand,
  experimentsCommand,
  runCommand,
  runsCommand,
  viewsCommand,
  queueCommand,
  workerCommand,
  checkpointsCommand,
  evalCommand,
  finetuneCommand,
  growCommand,
  compareCommand,
  seriesCommand,
  exportCommand,
  importCommand,
  jobsCommand
]

function overview(): string {
  return [
    'elle: the ELLE Workbench command line (lifelong pre-training of language models)',
    '',
    'usage: elle COMMAND [options]     (elle COMMAND --help for its options)',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(12)}${c.summary}`)
  ].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(overview())
    return name === undefined ? 2 : 0
  }
  const command = COMMANDS.find((c) => c.name === name)
  try {
    if (!command) throw new UsageError(`unknown command "${name}"; run "elle --help" for the list`)
    const args = parseCommandArgs(command, rest)
    if (args.values.help) {
      console.log(helpText(command))
      return 0
    }
    return await command.run(args)
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error)
    console.error(`elle ${name}: ${message.split('\n')[0]}`)
    return error instanceof UsageError ? 2 : error instanceof JobCancelledError ? 130 : 1
  }
}
