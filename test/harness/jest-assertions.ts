// Every test must assert something: a test that ends without one fails instead of passing silently.
import { beforeEach, expect } from '@jest/globals';

beforeEach(() => {
  expect.hasAssertions();
});
