// Drives mnv3 serve's gRPC endpoint the way any KServe v2 client would: @grpc/grpc-js, with
// @grpc/proto-loader reading our inference.proto. It checks nothing itself: it runs a fixed set of
// calls and writes what came back to results.json, which GrpcClientTest judges.
//
//   node grpc_client.js PORT MODEL DIR
//
// DIR holds case.json ({"height": H, "width": W, "maxBodyBytes": B}), input.f32 (one image,
// float32 little-endian, [1,3,H,W]), input.f16 (the same as float16) and image.png.
'use strict';
const fs = require('fs');
const http2 = require('http2');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [port, model, dir] = process.argv.slice(2);
const proto = path.join(__dirname, '..', '..', 'main', 'protobuf', 'inference.proto');
const def = protoLoader.loadSync(proto, {keepCase: true, longs: Number, defaults: true, oneofs: true});
const inference = grpc.loadPackageDefinition(def).inference;
const spec = JSON.parse(fs.readFileSync(path.join(dir, 'case.json')));
const client = new inference.GRPCInferenceService('127.0.0.1:' + port, grpc.credentials.createInsecure(),
    {'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1});

function call(method, request) {
  return new Promise((resolve) => {
    client[method](request, {deadline: Date.now() + 60000}, (err, response) => {
      if (err) resolve({code: err.code, details: err.details});
      else resolve({code: 0, response});
    });
  });
}

const f32 = fs.readFileSync(path.join(dir, 'input.f32'));
const f16 = fs.readFileSync(path.join(dir, 'input.f16'));
const png = fs.readFileSync(path.join(dir, 'image.png'));
const shape = [1, 3, spec.height, spec.width];
const input = (extra) => Object.assign({name: 'input', datatype: 'FP32', shape}, extra);

// a call whose request is the given bytes as they are (grpc-js frames them, nothing checks them)
function rawCall(method, bytes) {
  const generic = new grpc.Client('127.0.0.1:' + port, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    generic.makeUnaryRequest('/inference.GRPCInferenceService/' + method, (b) => b, (b) => b, bytes, new grpc.Metadata(),
        {deadline: Date.now() + 60000}, (err) => {
          generic.close();
          resolve(err ? {code: err.code, details: err.details} : {code: 0});
        });
  });
}

// a gRPC body framed by hand over HTTP/2 (flag byte, 4-byte length, message), for framing no client sends
function rawFrame(flag, declaredLength, payload) {
  return new Promise((resolve) => {
    const session = http2.connect('http://127.0.0.1:' + port);
    session.on('error', (e) => resolve({code: -1, details: String(e)}));
    const req = session.request({':method': 'POST', ':path': '/inference.GRPCInferenceService/ModelInfer',
      'content-type': 'application/grpc', 'te': 'trailers'});
    let headers = {};
    req.on('response', (h) => { headers = h; });
    req.on('trailers', (t) => { headers = Object.assign({}, headers, t); });
    req.on('data', () => {});
    req.on('close', () => {
      session.close();
      resolve({code: Number(headers['grpc-status']), details: decodeURIComponent(headers['grpc-message'] || '')});
    });
    const prefix = Buffer.alloc(5);
    prefix.writeUInt8(flag, 0);
    prefix.writeUInt32BE(declaredLength, 1);
    req.end(Buffer.concat([prefix, payload]));
  });
}

function bytesElement(buf) {
  const len = Buffer.alloc(4);
  len.writeUInt32LE(buf.length, 0);
  return Buffer.concat([len, buf]);
}

// the first output of an answer, its raw bytes as base64 so that Java reads the floats exactly
function output(r) {
  if (r.code !== 0) return r;
  const o = r.response.outputs[0];
  return {code: 0, name: o.name, datatype: o.datatype, shape: o.shape,
          raw: r.response.raw_output_contents[0].toString('base64'), id: r.response.id};
}

async function main() {
  const results = {};
  results.live = await call('ServerLive', {});
  results.ready = await call('ServerReady', {});
  results.modelReady = await call('ModelReady', {name: model});
  results.serverMetadata = await call('ServerMetadata', {});
  results.modelMetadata = await call('ModelMetadata', {name: model});
  results.unknownModelMetadata = await call('ModelMetadata', {name: 'no-such-model'});

  results.raw = output(await call('ModelInfer', {model_name: model, id: 'raw-1', inputs: [input()], raw_input_contents: [f32]}));
  const floats = [];
  for (let i = 0; i < f32.length; i += 4) floats.push(f32.readFloatLE(i));
  results.typed = output(await call('ModelInfer', {model_name: model, inputs: [input({contents: {fp32_contents: floats}})]}));
  results.fp16 = output(await call('ModelInfer', {model_name: model, inputs: [input({datatype: 'FP16'})], raw_input_contents: [f16]}));
  results.image = output(await call('ModelInfer', {model_name: model,
      inputs: [{name: 'image', datatype: 'BYTES', shape: [1, 1]}], raw_input_contents: [bytesElement(png)]}));
  results.imageTyped = output(await call('ModelInfer', {model_name: model,
      inputs: [{name: 'image', datatype: 'BYTES', shape: [1], contents: {bytes_contents: [png]}}]}));
  const top = await call('ModelInfer', {model_name: model, inputs: [input()], raw_input_contents: [f32],
      outputs: [{name: 'logits', parameters: {classification: {int64_param: 3}}}]});
  results.classification = output(top);
  results.features = await call('ModelInfer', {model_name: model, inputs: [input()], raw_input_contents: [f32],
      outputs: [{name: 'stride8'}, {name: 'logits'}]});
  if (results.features.code === 0) {
    results.features = {code: 0, outputs: results.features.response.outputs.map((o) => ({name: o.name, shape: o.shape}))};
  }

  // every one of these must be refused with a status that names the problem, and the server must keep serving
  const bad = {};
  bad.wrongShape = await call('ModelInfer', {model_name: model, inputs: [input({shape: [1, 4, spec.height, spec.width * 3 / 4]})],
      raw_input_contents: [f32]});
  bad.rawSizeMismatch = await call('ModelInfer', {model_name: model, inputs: [input()], raw_input_contents: [f32.subarray(4)]});
  bad.rawCountMismatch = await call('ModelInfer', {model_name: model, inputs: [input(), input()], raw_input_contents: [f32]});
  bad.unknownInput = await call('ModelInfer', {model_name: model, inputs: [input({name: 'pixels'})], raw_input_contents: [f32]});
  bad.unknownModel = await call('ModelInfer', {model_name: 'no-such-model', inputs: [input()], raw_input_contents: [f32]});
  bad.unknownOutput = await call('ModelInfer', {model_name: model, inputs: [input()], raw_input_contents: [f32],
      outputs: [{name: 'probabilities'}]});
  bad.wrongDatatype = await call('ModelInfer', {model_name: model, inputs: [input({datatype: 'INT64'})], raw_input_contents: [f32]});
  bad.fp16Typed = await call('ModelInfer', {model_name: model, inputs: [input({datatype: 'FP16', contents: {fp32_contents: floats}})]});
  bad.noData = await call('ModelInfer', {model_name: model, inputs: [input()]});
  bad.noInputs = await call('ModelInfer', {model_name: model});
  bad.undecodableImage = await call('ModelInfer', {model_name: model, inputs: [{name: 'image', datatype: 'BYTES', shape: [1]}],
      raw_input_contents: [bytesElement(Buffer.from('not an image at all'))]});
  bad.bytesLengthOverrun = await call('ModelInfer', {model_name: model, inputs: [{name: 'image', datatype: 'BYTES', shape: [1]}],
      raw_input_contents: [Buffer.from([255, 0, 0, 0, 1, 2, 3])]});
  bad.tooLarge = await call('ModelInfer', {model_name: model, inputs: [input()],
      raw_input_contents: [Buffer.alloc(spec.maxBodyBytes + 16)]});
  // values the model cannot take: refused naming the first
  const nan = Buffer.from(f32);
  nan.writeFloatLE(NaN, 4 * 5);
  bad.nanRaw = await call('ModelInfer', {model_name: model, inputs: [input()], raw_input_contents: [nan]});
  const inf = floats.slice();
  inf[7] = Infinity;
  bad.infTyped = await call('ModelInfer', {model_name: model, inputs: [input({contents: {fp32_contents: inf}})]});
  results.bad = bad;

  // bytes that are not a request: every one INVALID_ARGUMENT, never UNKNOWN
  const proto = {};
  proto.garbage = await rawCall('ModelInfer', Buffer.from('\xff\xfe garbage\x07', 'latin1'));
  const valid = Buffer.from([0x0a, 0x05, 0x73, 0x6d, 0x61, 0x6c, 0x6c, 0x2a, 0x10]); // model_name, then inputs cut short
  proto.truncated = await rawCall('ModelInfer', valid);
  proto.badUtf8 = await rawCall('ModelInfer', Buffer.from([0x0a, 0x02, 0xff, 0xfe]));
  // an unknown field of groups nested 200 deep (protobuf's limit is 100)
  proto.deepNesting = await rawCall('ModelInfer', Buffer.concat([Buffer.alloc(200, 0x7b), Buffer.alloc(200, 0x7c)]));
  proto.garbageMetadata = await rawCall('ModelMetadata', Buffer.from([0x0a, 0x7f, 0x01]));
  // gRPC framing: compressed without an encoding; a length longer than what follows
  proto.compressedFlag = await rawFrame(1, 4, Buffer.from([0x0a, 0x02, 0x61, 0x62]));
  proto.shortFrame = await rawFrame(0, 100, Buffer.from([0x0a, 0x02, 0x61, 0x62]));
  results.proto = proto;

  results.modelConfig = await call('ModelConfig', {name: model});
  results.unknownModelConfig = await call('ModelConfig', {name: 'no-such-model'});
  results.modelStatistics = await call('ModelStatistics', {name: model});
  results.allStatistics = await call('ModelStatistics', {});
  results.unimplemented = await call('RepositoryIndex', {});
  results.afterErrors = output(await call('ModelInfer', {model_name: model, inputs: [input()], raw_input_contents: [f32]}));

  fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(results, (k, v) =>
      (v && v.type === 'Buffer') ? Buffer.from(v.data).toString('base64') : v, 2));
  client.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
