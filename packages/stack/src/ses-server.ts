/**
 * Entry point of the local SES endpoint process: aws-ses-v2-local's server on the given host and
 * port. A file of our own (rather than the package's CLI) so the stack can mark the process with
 * its folder (`--stack-dir=…`, ignored here) and find it again by PID.
 */
import sesServer from 'aws-ses-v2-local';

function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

const host = option('host') ?? '127.0.0.1';
const port = Number(option('port') ?? '18005');

sesServer({ host, port }).then(
  () => console.log(`ses endpoint listening on http://${host}:${port}`),
  (error: unknown) => {
    console.error('ses endpoint failed to start', error);
    process.exit(1);
  },
);
