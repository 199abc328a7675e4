// Opens PATH with RecordLog.open (a writer) and prints one JSON line: { opened } or the error's { code, message }.
import { RecordLog } from "../../../lib/index.ts";

try {
  RecordLog.open(process.argv[2]!, { capacity: 1 << 24, blockSize: 4096 }).close();
  console.log(JSON.stringify({ opened: true }));
} catch (error) {
  const { code, message } = error as { code?: string; message: string };
  console.log(JSON.stringify({ code, message }));
}
