// A React page following an export with useJob. Bundled by serve.mjs with esbuild.
import { StrictMode, useState } from 'react'
import { createRoot } from 'react-dom/client'
import { useJob } from '@jobcast/client/react'

function ExportCard() {
  const [jobId, setJobId] = useState(undefined)
  const { status, progress, job, error, transport } = useJob(jobId, { url: '/' })

  async function start() {
    const response = await fetch('/start', { method: 'POST' })
    const { jobId: id } = await response.json()
    setJobId(id)
  }

  return (
    <section data-testid="react-card" data-status={status} data-transport={transport ?? ''}>
      <button onClick={start} data-testid="react-start">Export CSV</button>
      <div role="progressbar" aria-label="Export progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={progress}
        style={{ height: 10, background: '#e9edf2', borderRadius: 5, overflow: 'hidden', margin: '12px 0' }}>
        <div style={{ width: `${progress}%`, height: '100%', background: '#2f6fed', transition: 'width .2s' }} />
      </div>
      <p data-testid="react-status">
        {status} · {progress}% {job?.message ? `· ${job.message}` : ''} {transport ? `(via ${transport})` : ''}
      </p>
      {status === 'completed' && <a data-testid="react-download" href={job.result.downloadUrl}>Download</a>}
      {error && <p role="alert" data-testid="react-error">{error.message}</p>}
    </section>
  )
}

createRoot(document.getElementById('root')).render(
  // StrictMode mounts every effect twice in development: useJob still opens one socket.
  <StrictMode>
    <h1>React + useJob</h1>
    <ExportCard />
  </StrictMode>,
)
