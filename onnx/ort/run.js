// Runs an ONNX model in ONNX Runtime (onnxruntime-node) for seqkit's parity
// tests: reads {"model": path, "runs": [{name: {type, dims, data}}]} as JSON
// on stdin and writes {"runs": [{name: {type, dims, data}}]} on stdout, with
// Infinity, -Infinity and NaN as strings (JSON has no such numbers).
'use strict';
const ort = require('onnxruntime-node');

const arrays = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array, bool: Uint8Array };

async function main() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const job = JSON.parse(text);
  const session = await ort.InferenceSession.create(job.model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const out = { inputs: session.inputNames, outputs: session.outputNames, runs: [] };
  for (const run of job.runs || []) {
    const feeds = {};
    for (const [name, v] of Object.entries(run)) {
      if (!session.inputNames.includes(name)) continue; // a feed the model does not read
      const A = arrays[v.type];
      if (!A) throw new Error(`input ${name}: unknown type ${v.type}`);
      const data = v.type === 'int64' ? A.from(v.data, (x) => BigInt(x)) : A.from(v.data);
      feeds[name] = new ort.Tensor(v.type, data, v.dims);
    }
    const res = await session.run(feeds);
    const got = {};
    for (const [name, t] of Object.entries(res)) {
      got[name] = { type: t.type, dims: t.dims.map(Number), data: Array.from(t.data, (x) => { const n = Number(x); return Number.isFinite(n) ? n : String(n); }) };
    }
    out.runs.push(got);
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
