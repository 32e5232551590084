// A STAND-IN for the GitHub REST API, for trying CRA offline without a GitHub token.
// It is not GitHub and not a test double of CRA: it only answers the calls the github-ops
// atlas makes in the README walkthrough, with bodies shaped like GitHub's, and logs each request.
//
//   node examples/local/stand-in-api.mjs          (or: make stand-in-api)
//   GITHUB_API_URL=http://127.0.0.1:9090 make run (in another terminal)
//
// Nothing is stored: every issue gets the next number, every merge "succeeds".
// Port: STAND_IN_PORT (default 9090). No dependencies.
import { createServer } from 'node:http';
import { randomBytes } from 'node:crypto';

const port = Number(process.env.STAND_IN_PORT ?? 9090);
let nextNumber = 1;

const routes = [
  // POST /repos/{owner}/{repo}/issues → 201, like https://docs.github.com/en/rest/issues/issues#create-an-issue
  [
    'POST',
    /^\/repos\/([^/]+)\/([^/]+)\/issues$/,
    (m, body) => {
      const number = nextNumber++;
      return [
        201,
        { number, html_url: `https://github.com/${m[1]}/${m[2]}/issues/${number}`, title: body.title, state: 'open' },
      ];
    },
  ],
  // PUT /repos/{owner}/{repo}/pulls/{n}/merge → 200, like https://docs.github.com/en/rest/pulls/pulls#merge-a-pull-request
  [
    'PUT',
    /^\/repos\/([^/]+)\/([^/]+)\/pulls\/(\d+)\/merge$/,
    () => [200, { sha: randomBytes(20).toString('hex'), merged: true, message: 'Pull Request successfully merged' }],
  ],
];

createServer((req, res) => {
  let raw = '';
  req.on('data', (chunk) => (raw += chunk));
  req.on('end', () => {
    let body;
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      body = undefined;
    }
    const path = req.url.split('?')[0];
    const route = routes.find(([method, re]) => method === req.method && re.test(path));
    const [status, answer] =
      body === undefined
        ? [400, { message: 'Problems parsing JSON' }]
        : route
          ? route[2](path.match(route[1]), body)
          : [404, { message: 'Not Found (stand-in: only the README walkthrough routes exist)' }];
    const auth = req.headers.authorization ? 'with a bearer token' : 'WITHOUT a token';
    console.log(`${new Date().toISOString()} ${req.method} ${req.url} ${auth} ${raw} -> ${status}`);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(answer));
  });
}).listen(port, '127.0.0.1', () => console.log(`GitHub API stand-in on http://127.0.0.1:${port} (not GitHub)`));
