#!/usr/bin/env node
/** The `ndis` command. */
process.stdout.write('ndis: nothing here yet\n');
