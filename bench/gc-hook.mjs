// Preloaded (`--import`) into both servers, which run with `--expose-gc`: SIGUSR2 runs a
// full GC, so the memory scenario reads RSS without garbage from the connection ramp.
process.on('SIGUSR2', () => globalThis.gc?.())
