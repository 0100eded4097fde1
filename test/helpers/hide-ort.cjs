// Preloaded with `node --require` to simulate a machine where onnxruntime-node is installed but its native
// binding cannot load (e.g. an older glibc): every load of its binding module throws.
const Module = require('node:module')
const load = Module._load
Module._load = function (request, parent, isMain) {
  if (/onnxruntime[-_]|dist[\\/]binding\.js$/.test(request) && !request.endsWith('package.json')) {
    throw new Error('simulated: the onnxruntime binding cannot be loaded here')
  }
  return load.call(this, request, parent, isMain)
}
