/**
 * @netstack/cli: the `netstack` command-line tool.
 */
export { netstack } from "./main.ts"
export { buffersDemo } from "./demo/buffers-demo.ts"
