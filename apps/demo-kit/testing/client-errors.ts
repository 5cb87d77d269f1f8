import { expect, vi } from 'vitest';

// Bodies that are not JSON and carry a secret, as a mistyped request might.
const MALFORMED_BODIES = ['alice-api-key', '{"username":"alice","password":alice-password}'];

/**
 * Posts malformed JSON to the demo's `/login` and checks that each body gets 400, and that no
 * part of it appears in the response or in any console.error call.
 */
export async function expectQuietBadJson(origin: string): Promise<void> {
  const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    for (const body of MALFORMED_BODIES) {
      const response = await fetch(`${origin}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      const text = await response.text();

      expect(response.status, body).toBe(400);
      expect(text, body).not.toContain('alice');
    }
    expect(errors).not.toHaveBeenCalled();
  } finally {
    errors.mockRestore();
  }
}
