// The bundled entry of the `elle` command (bin/elle.mjs imports the built copy).
import { main } from './index'

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    console.error(`elle: ${String(error)}`)
    process.exitCode = 1
  }
)
