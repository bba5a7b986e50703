// A bounded map that forgets the least recently used entry: Map keeps insertion order, so a hit is
// re-inserted at the end and eviction takes the first key.
export class LruCache<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly capacity: number) {}

  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.capacity) this.map.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void { this.map.delete(key); }
  clear(): void { this.map.clear(); }
  keys(): IterableIterator<K> { return this.map.keys(); }
}
