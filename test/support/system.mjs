// What the tests need from the machine beyond node_modules: Debian packages, installed with
// apt-get when running as root, otherwise named with the command that installs them.
import { spawnSync } from 'node:child_process'

/** Install Debian packages when a command is missing: as root with apt-get, otherwise say how. */
export function ensure(packages, check) {
  if (check()) return true
  if (process.getuid && process.getuid() == 0) {
    console.log(`[test] installing ${packages.join(' ')} with apt-get`)
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
    const r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...packages], {
      stdio: 'inherit',
      env,
    })
    if (r.status == 0 && check()) return true
  }
  console.log(
    `[test] missing ${packages.join(' ')}: run \`sudo apt-get install -y ${packages.join(' ')}\` and try again`,
  )
  return false
}

/** Is `cmd` on the PATH? */
export const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status == 0
