/**
 * Why a claimed item's journal write failed: its claim was rolled back (the commit that
 * claimed it failed after the item was started), so the item is not this process's and
 * stops without a trace.
 */
export class AbandonedItem extends Error {
  constructor() { super('its claim did not commit: the item is left to the queue'); }
}
