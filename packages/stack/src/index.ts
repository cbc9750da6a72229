export { type StackControl, stackControl } from './control-client.js';
export { KafkaCluster } from './kafka-cluster.js';
export { DURABILITY } from './kafka-config.js';
export { nodeArgsFor, SERVICE_COMMAND_LINE_FLAGS, SERVICE_NODE_OPTIONS, type ServiceName, serviceNodeArgs } from './node-options.js';
export { freePort } from './ports.js';
export { type Stack, type StackOptions, startStack } from './stack.js';
export { StackError } from './stack-error.js';
