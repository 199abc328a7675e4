// Opens PATH as a RecordLog and prints what happened: "opened" or the error's code (or name).
import { RecordLog } from "../../../lib/index.ts";

try {
  RecordLog.open(process.argv[2]!, { capacity: 1 << 24, blockSize: 4096 }).close();
  console.log("opened");
} catch (error) {
  console.log((error as { code?: string }).code ?? (error as Error).name);
}
