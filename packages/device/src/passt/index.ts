/** passt as a medium: started on a socket pair, QEMU stream framing. */
export { Passt, type PasstMedium, type PasstOptions, PasstUnavailable } from "./passt.ts"
