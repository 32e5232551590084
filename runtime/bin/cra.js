#!/usr/bin/env node
// The `cra` command. Built output lives in ../dist (run `make build` first).
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv);
