#!/usr/bin/env node
// The CRA operator. Built output lives in ../dist (run `make build` first).
import { main } from '../dist/main.js';

process.exitCode = await main(process.env);
