#!/usr/bin/env node
/** Entry point of the `netstack` binary. */
import { NodeRuntime, NodeServices } from "@effect/platform-node"
import { Effect } from "effect"
import { cli } from "../src/main.ts"

cli.pipe(Effect.provide(NodeServices.layer), NodeRuntime.runMain)
