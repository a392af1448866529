/** Request limits the HTTP adapter enforces and the OpenAPI document states. */

/** Bodies above this are refused with 413 before parsing (API Gateway itself allows 10 MB). */
export const MAX_BODY_BYTES = 256 * 1024;
