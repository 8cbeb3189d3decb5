// Drives mnv3 serve's gRPC endpoint over TLS with a bearer token, as a client nobody here wrote:
// @grpc/grpc-js trusting the test's certificate. It checks nothing itself: it writes what came back
// to results.json, which SecurityTest judges.
//
//   node grpc_secure.js PORT MODEL CERT.pem TOKEN DIR
'use strict';
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [port, model, cert, token, dir] = process.argv.slice(2);
const proto = path.join(__dirname, '..', '..', 'main', 'protobuf', 'inference.proto');
const inference = grpc.loadPackageDefinition(protoLoader.loadSync(proto, {keepCase: true, longs: Number, defaults: true})).inference;
const tls = new inference.GRPCInferenceService('127.0.0.1:' + port, grpc.credentials.createSsl(fs.readFileSync(cert)));
const plain = new inference.GRPCInferenceService('127.0.0.1:' + port, grpc.credentials.createInsecure());

function call(client, method, request, bearer) {
  const md = new grpc.Metadata();
  if (bearer) md.add('authorization', 'Bearer ' + bearer);
  return new Promise((resolve) => {
    client[method](request, md, {deadline: Date.now() + 30000}, (err, response) => {
      resolve(err ? {code: err.code, details: err.details} : {code: 0, response});
    });
  });
}

async function main() {
  const zeros = Buffer.alloc(4 * 3 * 64 * 64);
  const infer = {model_name: model, inputs: [{name: 'input', datatype: 'FP32', shape: [1, 3, 64, 64]}], raw_input_contents: [zeros]};
  const r = {};
  r.liveWithoutToken = await call(tls, 'ServerLive', {});
  r.modelReadyWithoutToken = await call(tls, 'ModelReady', {name: model});
  r.metadataWithoutToken = await call(tls, 'ModelMetadata', {name: model});
  r.metadataWrongToken = await call(tls, 'ModelMetadata', {name: model}, token + 'x');
  r.metadataWithToken = await call(tls, 'ModelMetadata', {name: model}, token);
  r.inferWithoutToken = await call(tls, 'ModelInfer', infer);
  r.inferWithToken = await call(tls, 'ModelInfer', infer, token);
  if (r.inferWithToken.code === 0) r.inferWithToken = {code: 0, shape: r.inferWithToken.response.outputs[0].shape};
  r.plaintext = await call(plain, 'ServerLive', {});
  fs.writeFileSync(path.join(dir, 'results.json'), JSON.stringify(r, null, 2));
  tls.close();
  plain.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
