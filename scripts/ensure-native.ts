// Test preload (bunfig.toml): rebuilds the shim first when it is missing or older
// than native/, and the prebuilt ones when a stale one would be loaded instead.
import { buildNative, isPrebuiltStale, isStale } from "./build-native.ts";
import { buildPrebuilds } from "./build-prebuilds.ts";

if (isStale()) buildNative();
if (isPrebuiltStale()) buildPrebuilds();
