// A CommonJS module that counts its loads (lazy-module.test.ts).
globalThis.deferredFixtureLoads = (globalThis.deferredFixtureLoads ?? 0) + 1;
exports.answer = () => 42;
