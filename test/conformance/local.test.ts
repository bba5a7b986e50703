// Conformance of the embedded `local` provider.
import { conformance } from './scenarios.ts';

// A second keystore is the source of the keys the import scenario copies.
conformance({ provider: 'local', connection: 'local', source: 'source', config: { connections: [{ name: 'local', provider: 'local' }, { name: 'source', provider: 'local' }] } });
