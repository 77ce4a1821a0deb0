#!/usr/bin/env node
// Forecast latency of an exported model (bench/onnx_export.py) in ONNX Runtime's CPU build, through
// its Node binding (bench/onnx: `npm install --ignore-scripts`). Run by hand, never by tests.
//
//   node bench/onnx_latency.js --model OUT/NAME.json [--threads 1,2] [--batch 1,32]
//        [--warmup 3] [--repeats 20] [--first] [--profile DIR]
//   node bench/onnx_latency.js --check OUT/NAME.json
//
// Timing: one InferenceSession per thread count (intraOpNumThreads T, interOpNumThreads 1,
// sequential execution, graphOptimizationLevel 'all', the CPU execution provider only); per batch
// size the inputs are made once as attend's `bench model` makes them (x_enc N(0, 1), x_dec zeros,
// marks U(-0.5, 0.5)), `warmup` untimed calls, then `repeats` timed calls of session.run. One JSON
// line per (threads, batch): median and min ms. --first adds the session's creation and its first
// call at the first batch size (a fresh session, nothing warmed). --profile writes ONNX Runtime's
// profile of each session (all its calls) under DIR and prints per session the execution
// providers that ran the graph's nodes and the operator types taking most of the node time.
// --check runs the file on the inputs of NAME.check/ and prints |ORT - torch|'s largest value per
// batch size.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(path.join(__dirname, 'onnx', 'node_modules', 'onnxruntime-node'));

function parseArgs(argv) {
  const a = {threads: [1], batch: [1, 32], warmup: 3, repeats: 20, first: false};
  for (let i = 0; i < argv.length; ++i) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    const ints = (s) => s.split(',').map((x) => {
      const n = Number.parseInt(x, 10);
      if (!(n > 0)) throw new Error(`${k}: '${s}' is not a list of positive integers`);
      return n;
    });
    if (k === '--model') a.model = v();
    else if (k === '--check') a.check = v();
    else if (k === '--threads') a.threads = ints(v());
    else if (k === '--batch') a.batch = ints(v());
    else if (k === '--warmup') a.warmup = Number.parseInt(v(), 10);
    else if (k === '--repeats') a.repeats = ints(v())[0];
    else if (k === '--first') a.first = true;
    else if (k === '--profile') a.profile = v();
    else throw new Error(`unknown argument '${k}'`);
  }
  if (!a.model && !a.check) throw new Error('give --model OUT/NAME.json or --check OUT/NAME.json');
  return a;
}

function readSidecar(p) {
  const side = JSON.parse(fs.readFileSync(p, 'utf8'));
  side.onnxPath = path.join(path.dirname(p), side.onnx);
  return side;
}

function sessionOptions(threads, profilePrefix) {
  const o = {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  };
  if (profilePrefix) {
    o.enableProfiling = true;
    o.profileFilePrefix = profilePrefix;
  }
  return o;
}

// n floats: 'normal' N(0, 1) (Box-Muller on Math.random), 'uniform' U(-0.5, 0.5), else zeros; the
// values do not change the timings.
function fill(kind, n) {
  const x = new Float32Array(n);
  if (kind === 'normal') {
    for (let i = 0; i < n; ++i) {
      const u = 1 - Math.random(), v = Math.random();
      x[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }
  } else if (kind === 'uniform') {
    for (let i = 0; i < n; ++i) x[i] = Math.random() - 0.5;
  }
  return x;
}

function feedsFor(side, batch) {
  const feeds = {};
  for (const inp of side.inputs) {
    const dims = inp.shape.map((d) => (d === 'batch' ? batch : d));
    const n = dims.reduce((p, d) => p * d, 1);
    feeds[inp.name] = new ort.Tensor('float32', fill(inp.fill, n), dims);
  }
  return feeds;
}

function readF32(file) {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

const now = () => Number(process.hrtime.bigint()) / 1e6;  // ms

function stats(ms) {
  const s = [...ms].sort((x, y) => x - y);
  return {median_ms: s[Math.floor(s.length / 2)], min_ms: s[0]};
}

// Execution providers of the graph's nodes and the operator types' share of the node time in an
// ONNX Runtime profile (a JSON array of trace events).
function summariseProfile(file) {
  const events = JSON.parse(fs.readFileSync(file, 'utf8'));
  const providers = {}, byOp = {};
  let total = 0;
  for (const e of events) {
    if (e.cat !== 'Node' || !e.args || !e.name.endsWith('_kernel_time')) continue;
    providers[e.args.provider] = (providers[e.args.provider] || 0) + 1;
    byOp[e.args.op_name] = (byOp[e.args.op_name] || 0) + e.dur;
    total += e.dur;
  }
  const top = Object.entries(byOp).sort((x, y) => y[1] - x[1]).slice(0, 6)
                  .map(([op, us]) => `${op} ${(100 * us / total).toFixed(0)}%`);
  return {providers, top_ops: top};
}

async function check(a) {
  const side = readSidecar(a.check);
  const session = await ort.InferenceSession.create(side.onnxPath, sessionOptions(1));
  for (const c of side.checks) {
    const feeds = {};
    for (const inp of side.inputs) {
      const dims = inp.shape.map((d) => (d === 'batch' ? c.batch : d));
      feeds[inp.name] = new ort.Tensor('float32', readF32(c.inputs[inp.name]), dims);
    }
    const out = (await session.run(feeds))[side.output];
    const want = readF32(c.expected);
    if (JSON.stringify(out.dims) !== JSON.stringify(c.expected_shape))
      throw new Error(`batch ${c.batch}: ORT's output is [${out.dims}], torch's [${c.expected_shape}]`);
    let diff = 0;
    for (let i = 0; i < want.length; ++i) {
      const d = Math.abs(out.data[i] - want[i]);
      diff = Number.isNaN(d) ? Infinity : Math.max(diff, d);
    }
    console.log(JSON.stringify({model: side.model, batch: c.batch, max_abs_diff: diff,
                                ort: ort.env.versions.node}));
  }
  await session.release();
}

async function timeModel(a) {
  const side = readSidecar(a.model);
  const common = {side: 'ort', model: side.model, ort: ort.env.versions.node,
                  backend: 'onnxruntime-node cpu', opset: side.opset};
  for (const threads of a.threads) {
    if (a.first) {
      const t0 = now();
      const session = await ort.InferenceSession.create(side.onnxPath, sessionOptions(threads));
      const t1 = now();
      const feeds = feedsFor(side, a.batch[0]);
      const t2 = now();
      await session.run(feeds);
      const t3 = now();
      console.log(JSON.stringify({...common, mode: 'first', threads, batch: a.batch[0],
                                  create_ms: t1 - t0, first_run_ms: t3 - t2}));
      await session.release();
    }
    const prefix = a.profile ? path.join(a.profile, `${side.model}_t${threads}`) : undefined;
    const session = await ort.InferenceSession.create(side.onnxPath, sessionOptions(threads, prefix));
    for (const batch of a.batch) {
      const feeds = feedsFor(side, batch);
      for (let i = 0; i < a.warmup; ++i) await session.run(feeds);
      const ms = [];
      for (let i = 0; i < a.repeats; ++i) {
        const t0 = now();
        await session.run(feeds);
        ms.push(now() - t0);
      }
      const line = {...common, mode: 'latency', threads, batch, ...stats(ms), repeats: a.repeats};
      console.log(JSON.stringify(line));
    }
    if (a.profile) {
      // endProfiling() writes PREFIX_<date>.json; the newest such file is this session's.
      session.endProfiling();
      const dir = path.dirname(prefix), base = path.basename(prefix) + '_';
      const files = fs.readdirSync(dir).filter((f) => f.startsWith(base) && f.endsWith('.json'))
                        .map((f) => path.join(dir, f))
                        .sort((x, y) => fs.statSync(y).mtimeMs - fs.statSync(x).mtimeMs);
      console.log(JSON.stringify({...common, mode: 'profile', threads, file: files[0],
                                  ...summariseProfile(files[0])}));
    }
    await session.release();
  }
}

async function main() {
  let a;
  try {
    a = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`error: ${e.message}`);
    process.exit(2);
  }
  if (a.check) await check(a);
  else await timeModel(a);
}

main().catch((e) => {
  console.error(`error: ${e.stack || e}`);
  process.exit(1);
});
