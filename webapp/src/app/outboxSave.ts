/**
 * Saving a form of the field app into the outbox (offline too): a busy flag for the button, a
 * toast that says it will be sent, back to where the worker came from — or a toast that says why
 * not (the phone's storage is full, or anything else: try again), staying on the form.
 */
import { ref, type Ref } from 'vue'
import { useRouter } from 'vue-router'
import { showToast } from 'vant'
import 'vant/es/toast/style'
import { StorageFullError } from './db'

const QUEUED = '已保存，联网后发送'

export function useOutboxSave(): { saving: Ref<boolean>; queue: (put: () => Promise<unknown>, done?: string) => Promise<void> } {
  const router = useRouter()
  const saving = ref(false)
  async function queue(put: () => Promise<unknown>, done = QUEUED): Promise<void> {
    saving.value = true
    try {
      await put()
      showToast(done)
      router.back()
    } catch (err) {
      showToast(err instanceof StorageFullError ? err.message : '保存失败，请重试')
    } finally {
      saving.value = false
    }
  }
  return { saving, queue }
}
