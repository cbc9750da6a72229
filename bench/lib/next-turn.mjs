// The stand-ins for Kafka and Postgres answer here: a later turn of the event loop, as a socket's
// answer always comes. A file of its own, so the measured API processes load nothing else of the bench.
export const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
