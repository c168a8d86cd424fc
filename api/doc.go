// Package api serves the Docker Engine API over a Backend: it routes
// requests (with or without a /vX.Y prefix), decodes their parameters
// and bodies, makes one call to the backend and encodes the answer, or
// the backend's error as Docker does ({"message": ...} with the status
// that the error's errdefs class gives). It holds no domain logic.
package api
