/*
 * The machine's predefined keys (xsPlatforms.c's default fxBuildKeys, with mxUseDefaultBuildKeys 0):
 * the same keys in the same order, so every ID is the one the engine expects, but the names are
 * registered in place (fxNewNameX: XS_KEY_X_KIND pointing at gxIDStrings, which is read-only data
 * in the image) and the well-known symbols' descriptions are constant strings (XS_STRING_X_KIND),
 * instead of copying about 450 strings into the chunk heap at every boot. Functions named by these
 * keys then share the constant string too (fxNewFunctionName). Included once, by xs_platform.c
 * (every XS image) and by tools/xs-host/xs_host.c (the host tool must make the same keys).
 */
#ifndef XS_BUILD_KEYS_H
#define XS_BUILD_KEYS_H

void fxBuildKeys(txMachine* the)
{
	int i;
	for (i = 0; i < XS_SYMBOL_ID_COUNT; i++) {
		txID id = the->keyIndex;
		txSlot* description = fxNewSlot(the);
		description->kind = XS_STRING_X_KIND;
		description->value.string = gxIDStrings[i];
		the->keyArray[id] = description;
		the->keyIndex++;
	}
	for (; i < XS_ID_COUNT; i++)
		fxNewNameX(the, gxIDStrings[i]);
}

#endif
