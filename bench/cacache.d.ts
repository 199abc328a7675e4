// The few cacache functions bench/store.ts uses (cacache ships no types).
declare module "cacache" {
  interface PutOptions {
    algorithms?: string[];
  }
  const cacache: {
    put(cache: string, key: string, data: Uint8Array, options?: PutOptions): Promise<string>;
    get(cache: string, key: string): Promise<{ data: Buffer; integrity: string }>;
  };
  export default cacache;
}
