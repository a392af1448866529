/**
 * Coded domain errors. Every error a client can cause carries an HTTP status, a stable
 * namespaced code and, for validation, a list of field-level problems. The HTTP layer turns
 * them into RFC 9457 problem+json; anything that is not an AppError is a real fault (500).
 */
export interface FieldProblem {
  /** JSON path of the offending input, e.g. `values.fld_01H…` or `phases[2].name`. */
  path: string;
  message: string;
  code: string;
}

export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly errors: FieldProblem[] = [],
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class ValidationError extends AppError {
  constructor(message: string, errors: FieldProblem[] = [], code = 'validation.invalidInput') {
    super(422, code, message, errors);
  }
}

export class BadRequestError extends AppError {
  constructor(message: string, errors: FieldProblem[] = [], code = 'request.badRequest') {
    super(400, code, message, errors);
  }
}

export class NotFoundError extends AppError {
  constructor(kind: string, id: string) {
    super(404, 'resource.notFound', `${kind} ${id} does not exist`, [], { resource: kind, id });
  }
}

export class ConflictError extends AppError {
  constructor(message: string, code = 'resource.conflict', extra: Record<string, unknown> = {}) {
    super(409, code, message, [], extra);
  }
}

export class PreconditionFailedError extends AppError {
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super(412, 'request.preconditionFailed', message, [], extra);
  }
}

export class UnauthorizedError extends AppError {
  constructor(message = 'A valid bearer token is required') {
    super(401, 'auth.unauthorized', message);
  }
}

export class ForbiddenError extends AppError {
  constructor(message: string, extra: Record<string, unknown> = {}) {
    super(403, 'auth.forbidden', message, [], extra);
  }
}

export class PayloadTooLargeError extends AppError {
  constructor(limitBytes: number, actualBytes: number) {
    super(413, 'request.tooLarge', `The request body is ${actualBytes} bytes; the limit is ${limitBytes} bytes`, [], {
      limitBytes,
    });
  }
}

export class UnsupportedMediaTypeError extends AppError {
  constructor(contentType: string) {
    super(415, 'request.unsupportedMediaType', `Send JSON (Content-Type: application/json), not ${contentType}`);
  }
}
