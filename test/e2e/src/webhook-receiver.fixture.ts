// Test-only: a webhook receiver run inside a lab host (`node webhook-receiver.fixture.js PORT
// CERT KEY`). It serves HTTPS on every address of its host and prints each request as one JSON
// line on stdout ({path, headers, body}: the raw body, so the test can check the signature over
// the exact bytes), answering 503 to the first request and 204 afterwards, so a retry is seen.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';

const [port, cert, key] = process.argv.slice(2);
let seen = 0;
const server = createServer({ cert: readFileSync(cert!), key: readFileSync(key!) }, (req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    seen++;
    process.stdout.write(
      `${JSON.stringify({ path: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })}\n`,
    );
    res.writeHead(seen === 1 ? 503 : 204).end();
  });
});
server.listen(Number(port), '::', () => process.stdout.write('{"listening":true}\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
