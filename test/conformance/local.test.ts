// Conformance of the embedded `local` provider.
import { conformance } from './scenarios.ts';

conformance({ provider: 'local', connection: 'local', config: { connections: [{ name: 'local', provider: 'local' }] } });
