// A process that opens an appender thread, appends, and leaves it open: it must still exit by
// itself (services/tlog/tile-appender-thread.test.ts).
import { TileAppenderThread } from '../../services/tlog/tile-appender-thread.ts';
import { MemoryTileStorage } from '../../services/tlog/tile-storage.ts';

const thread = await TileAppenderThread.open(0, new MemoryTileStorage());
const appended = await thread.append([Buffer.from('entry 0')]);
process.stdout.write(`appended ${appended.size}\n`);
