// Integration tests wait on real processes (controllers, Prometheus scrapes): allow them 2 minutes.
import { jest } from '@jest/globals';

jest.setTimeout(120_000);
