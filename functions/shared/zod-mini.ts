import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini keeps Lambda bundles small but ships without messages: load the English ones,
// so a bad message, event or variable is reported as "Too big: expected number to be <=60".
z.config(en());

export * from 'zod/mini';
