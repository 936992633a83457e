/**
 * Heroku runs one transfer per database at a time: a capture or a restore asked for while another
 * transfer of the app's database is pending or running is refused with "a transfer is currently in
 * progress" (what `heroku pg:backups:capture` then prints, exit 2), until that one finishes.
 */
import { ApiError } from './http.js';
import type { AppState } from './state.js';
import type { TransferStore } from './transfer-store.js';

/** The message (and 409 `conflict`) of a refused transfer. */
export const TRANSFER_IN_PROGRESS = 'a transfer is currently in progress';

/** Throw the refusal when `app` has an unfinished transfer. */
export function refuseWhileBusy(store: TransferStore, app: AppState): void {
  if (store.list(app).some((t) => t.finishedAt === undefined)) throw new ApiError(409, 'conflict', TRANSFER_IN_PROGRESS);
}
