import { isIP } from 'node:net';
import { fields } from '@postline/runtime';
import type { SMTPServerOptions } from 'smtp-server';
import { z } from 'zod';

/**
 * The load balancers in front of an SMTP listener that open each connection with a PROXY protocol
 * header (version 1: HAProxy's `send-proxy`, nginx's `proxy_protocol on`), as a comma-separated list
 * of their addresses. Without it every client behind a balancer has the balancer's address: the
 * share of one client (50 connections) becomes the share of all of them, and logs name the
 * balancer. Only connections from these addresses may carry a header (and must), so a client that
 * reaches the listener directly cannot claim another's address.
 */
export const proxyFrom = fields.commaList
  .pipe(z.array(z.string().refine((a) => isIP(a) !== 0, 'must be IP addresses: the load balancers that send a PROXY header')))
  .default([]);

/** smtp-server's own PROXY support, for the listed addresses only; nothing when none are listed. */
export function proxyOptions(from: readonly string[]): Pick<SMTPServerOptions, 'useProxy'> {
  return from.length > 0 ? { useProxy: [...from] } : {};
}
