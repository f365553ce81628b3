#!/usr/bin/env node
// The xs-rpmsg command line (cli/main.ts), run through tsx's loader in this same process
// (so Ctrl-C and SIGTERM reach it directly).
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
