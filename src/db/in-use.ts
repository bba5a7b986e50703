// The embedded database is open in another process. Its own module, so that the CLI can tell this
// failure apart without loading the database code.
export class DatabaseInUse extends Error {}
