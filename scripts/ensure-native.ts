// Test preload (bunfig.toml): builds the shim first when it is missing or stale.
import { buildNative, isStale } from "./build-native.ts";

if (isStale()) buildNative();
