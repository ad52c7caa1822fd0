/** Served at `/` in demo mode when packages/gateway/demo/index.html is missing. */
export const FALLBACK_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>jobcast demo</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem}pre{background:#f4f4f5;padding:.75rem;overflow:auto}</style>
</head><body>
<h1>jobcast gateway — demo mode</h1>
<p>Start a simulated job, then follow it:</p>
<pre>curl -s -X POST localhost:3030/demo/jobs -H 'content-type: application/json' -d '{"kind":"export"}'
# → {"id":"export-…"}
curl -N localhost:3030/v1/jobs/&lt;id&gt;/events   # Server-Sent Events
curl -s localhost:3030/v1/jobs/&lt;id&gt;          # polling</pre>
<p>Kinds: <code>export</code> (completes with a download link), <code>fail</code>, <code>slow</code>.</p>
</body></html>
`
