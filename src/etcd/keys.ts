/**
 * Keys etcd-pair writes into the pair's own keyspace, under one prefix that applications should leave alone.
 */
export const KEY_PREFIX = "/etcd-pair/";

/** A canary, overwritten by every check: it never grows the keyspace. */
export const CANARY_KEY = `${KEY_PREFIX}canary`;

/** The cluster token of the current generation: start scripts compare it with their own. */
export const GENERATION_KEY = `${KEY_PREFIX}generation`;
